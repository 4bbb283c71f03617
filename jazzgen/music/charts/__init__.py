"""The chord charts musicians keep, read into one ``Tune`` each and played through its form.

``files`` (which format a chart file is in, which tune of a playlist: ``read_tunes``,
``pick_tune``), ``ireal`` (iReal Pro links, playlists, HTML exports), ``impro_visor``
(Impro-Visor ``.ls`` leadsheets), ``musicxml`` (``<harmony>`` of MusicXML lead sheets),
``form`` (the written bars and their road map: repeats, endings, segno, coda, D.C./D.S.,
Fine, expanded into the bars the band plays).  ``music.chart.build_chart`` turns the
picked tune into the one ``Chart``; every chord symbol goes through ``music.chords``.
"""
from jazzgen.music.charts.files import FORMATS, Entry, chart_format, pick_tune, read_chart_file, read_tunes
from jazzgen.music.charts.form import Bar, Tune, changes_of, play_order

__all__ = ["FORMATS", "Bar", "Entry", "Tune", "chart_format", "changes_of", "pick_tune", "play_order",
           "read_chart_file", "read_tunes"]

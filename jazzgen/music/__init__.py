"""Music types and MIDI: the note sequence every stage agrees on, and the pure transforms around it.

``notes`` (``NoteSequence``), ``midi_io`` (bytes <-> sequences, the writer), ``quantize``
(ticks onto the grid), ``melody`` (the top voice of a part), ``chords`` (any chord
spelling -> ``Chord``; forms), ``chord_infer`` (chords from the band), ``chart`` (the one
chart object: changes, meter, tempo; primers), ``charts`` (the chart files musicians keep:
iReal Pro, Impro-Visor, MusicXML lead sheets, played through their form), ``dump`` (what
jazzgen read, as MIDI).
Nothing here imports Keras.
"""

"""Music types and MIDI: the note sequence every stage agrees on, and the pure transforms around it.

``notes`` (``NoteSequence``), ``timing`` (steps, ticks, seconds and swing), ``midi_io`` (MIDI
files <-> sequences: reads, and re-exports the writer), ``midi_check`` (is it a whole MIDI
file with music in it), ``midi_parts`` (which part is the melody), ``midi_write`` (the
writer and the timed events of the audio), ``quantize``
(ticks onto the grid), ``melody`` (the top voice of a part), ``chords`` (any chord
spelling -> ``Chord``; forms), ``chord_infer`` (chords from the band), ``chart`` (the one
chart object: changes, meter, tempo; primers), ``charts`` (the chart files musicians keep:
iReal Pro, Impro-Visor, MusicXML lead sheets, played through their form), ``dump`` (what
jazzgen read, as MIDI).
Nothing here imports Keras.
"""

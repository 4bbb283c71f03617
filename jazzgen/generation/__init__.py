"""Generation: a chart and the exported weights in, a take (solo + band) out as files.

``sample`` (the weights run in NumPy one note at a time; ``load_stepper``, ``improvise``), ``band`` (walking
bass, comping piano, drums), ``render`` (MIDI, WAV, piano roll, MusicXML), ``takes`` (the one
generator that the command and the page share).  No Keras here: the model folder and
the network's description come from ``model.folder`` and ``model.spec``, which import none.
"""

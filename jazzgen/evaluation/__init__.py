"""Evaluation: how good a model is, and how close its solos are to real ones.

``likelihood`` (the model against n-gram baselines on the same events), ``ngram`` (the
baselines), ``metrics`` (style metrics per solo), ``twosample`` (can a classifier tell two
sets apart), ``report`` (the whole evaluation: which files, both sections, the report files);
``listener`` (issue 20's stronger two-sample test on solos read as played, with
``listener_features``), ``idiom`` (formula use, copies, chord tones, detached share and
sounding lengths as played), ``comparison`` (each real validation solo beside a generated
twin, written and read back; the issue's targets), ``listening`` (a model folder or folders
of MIDI scored against those targets: ``scripts/tools/listen.py``), ``musicxml_check`` (the
lead sheets against the MusicXML schema and music21: ``scripts/tools/check_musicxml.py``).
"""

"""Evaluation: how good a model is, and how close its solos are to real ones.

``likelihood`` (the model against n-gram baselines on the same events), ``ngram`` (the
baselines), ``metrics`` (style metrics per solo), ``twosample`` (can a classifier tell two
sets apart), ``report`` (the whole evaluation: which files, both sections, the report files).
"""

"""The study's code, in five layers (README, "Layout"): base, core, training, study, tools.

To read it in order: ``models/`` (ResNet-20, dynamic convolution, channel gating), ``train.py``
(``fit_epoch``, the whole training loop), ``manifest.py`` (the runs of the study), ``seeds.py``
(results over seeds), ``findings/`` (the sentences the README and the report print, one module per notebook).
``names.py`` holds the vocabulary.
"""

"""A stand-in for the ``d2l`` package (Dive into Deep Learning, release 0.17): only the helpers
that the re-created chapters call from earlier chapters, as ``d2l/torch.py`` defines them."""

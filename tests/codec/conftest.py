"""The codec's tests need no Django: ``make test`` also runs this folder with pytest-django
disabled and no settings module, and ``test_bare.py`` proves Django never loaded there."""

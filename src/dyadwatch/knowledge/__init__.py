"""Domain knowledge: the code that reads the data files in `dyadwatch/data/` (CAMEO and country
codebooks, the taxonomy of tracks and theatres, the leaders file) and the canonical schema every stage
shares. It may import only the standard library, third-party packages and `dyadwatch.errors`; every
other stage may import it.
"""

"""The industry map and the investment catalogue: categories, sectors, chains, product directions,
clusters, the 2027 targets, and the catalogue entries managers edit — loaded from reviewed data files."""

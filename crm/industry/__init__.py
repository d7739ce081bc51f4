"""The industry map: districts and zones now; sectors, chains, clusters and the catalogue to come."""

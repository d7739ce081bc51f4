"""Read models across domains: what a page or a brief shows that no single domain owns — matches
against the catalogue, 空白环节, timelines, search, counts on the map."""

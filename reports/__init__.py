"""The PDF side: weekly briefs built from figures by pure functions (see issue 7). Nothing yet."""

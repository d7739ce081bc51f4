"""One search box across enterprises, contacts and leads."""

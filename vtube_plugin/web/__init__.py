"""The local web pages (poser, studio, the Browser Source feed) on one aiohttp server with one set of rules."""

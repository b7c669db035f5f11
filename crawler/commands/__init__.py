"""wirewatch's Scrapy commands (``COMMANDS_MODULE``); each replaces Scrapy's of the same name."""

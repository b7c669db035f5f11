"""The web app: a thin, server-rendered reader of the archive. It never imports Scrapy."""

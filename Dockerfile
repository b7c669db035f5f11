# One image for the web, scheduler and crawler services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY core ./core
COPY wirewatch ./wirewatch
COPY crawler ./crawler
COPY db ./db
COPY alerts ./alerts
COPY scheduler ./scheduler
COPY web ./web
COPY cli ./cli
COPY scrapy.cfg ./
# /data is created here, owned by the app user: a named volume mounted on it starts
# as a copy of this directory, ownership included, so the non-root user can write.
RUN pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 wirewatch \
    && mkdir -p /data \
    && chown wirewatch:wirewatch /data
USER wirewatch
ENV WIREWATCH_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["wirewatch", "web", "--host", "0.0.0.0"]

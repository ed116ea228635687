# The SoftLayer Transcode emulator: API on 8080, FTP on 2121 with passive
# ports 30000-30099, files and the SQLite database in the /data volume.
#   docker build -t transcode-emulator .
#   docker run -p 8080:8080 -p 2121:2121 -p 30000-30099:30000-30099 transcode-emulator
FROM python:3.11-slim-bookworm

# Debian's ffmpeg; the emulator prefers an ffmpeg on PATH to the one pip brings.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 emulator \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin emulator \
    && mkdir /data \
    && chown 10001:10001 /data

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY . /app
# The README's install step, unchanged.
RUN python -m pip install -e .

# Listen on every interface of the container; tell FTP clients to come back
# through the published ports on the Docker host.
ENV TRANSCODE_EMULATOR_HOST=0.0.0.0 \
    TRANSCODE_EMULATOR_DATA_DIR=/data \
    TRANSCODE_EMULATOR_FTP_PUBLIC_HOST=127.0.0.1

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080 2121 30000-30099

HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
    CMD ["transcode-emulator", "health"]

ENTRYPOINT ["transcode-emulator"]
CMD ["serve"]

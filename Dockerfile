# confaudit as a container: `docker run --rm -v "$PWD:/src" confaudit scan /src`; the admission
# webhook (deploy/) runs the same image with `webhook ...`.
FROM python:3.12-slim

ARG HELM_VERSION=v3.17.3
# helm renders charts for `confaudit scan`; fetched from the official release. `confaudit diff`
# reads the mounted repository with git, which refuses one owned by another user ("dubious
# ownership") unless told otherwise: the image only ever reads it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl git \
    && curl -fsSL "https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz" \
       | tar -xz -C /usr/local/bin --strip-components=1 linux-amd64/helm \
    && apt-get purge -y curl && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

WORKDIR /opt/confaudit
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY policies ./policies
RUN pip install --no-cache-dir ".[webhook]" && rm -rf /opt/confaudit

RUN useradd --create-home --uid 10001 confaudit
USER 10001
WORKDIR /src
ENTRYPOINT ["confaudit"]
CMD ["--help"]

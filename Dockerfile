# claimledger: the API (`claimledger serve`) and the projection worker (`claimledger worker`)
# from one image. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY api ./api
RUN pip install --no-compile . && useradd --system --home /app claimledger \
    && mkdir -p /keys && chown claimledger /keys
USER claimledger

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["claimledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY requirements.txt package.json package-lock.json ./
RUN pip install --no-cache-dir -r requirements.txt && npm ci --omit=dev --no-audit --no-fund
COPY . .
# Static files are part of the image: production settings serve them (whitenoise) only
# from STATIC_ROOT, by their hashed names, and every page is a 500 without them. The
# secret and hosts are throwaway values for this one command; the real ones come at run
# time.
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    POVERTYEXIT_DATA_DIR=/tmp/collectstatic-data python manage.py collectstatic --noinput \
    && rm -rf /tmp/collectstatic-data
RUN useradd --create-home app && mkdir -p /app/data && chown -R app /app
USER app
EXPOSE 8000
# gunicorn's workers, threads and keep-alive: gunicorn.conf.py (one worker per core plus
# one, 4 threads each); WEB_CONCURRENCY and GUNICORN_THREADS override them at run time.
# The web container: migrations, then gunicorn in the shell's place (exec), so that
# `docker stop` reaches gunicorn itself. Celery worker and beat run this image with a
# command of their own (docker-compose.yml) and never migrate.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn povertyexit.wsgi:application --config gunicorn.conf.py"]

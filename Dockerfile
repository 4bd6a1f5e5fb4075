# Earshot production image: gunicorn (web), Celery worker and beat share it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

COPY . .
# collectstatic needs settings but no secrets worth keeping: build-time throwaway values.
RUN DEBUG=0 SECRET_KEY=build FIELD_ENCRYPTION_KEY=Kq0l7wKZcM0nH3bqkF2y3Yd6kB0W2q6xQe8mI9J1s1o= EARSHOT_DATA_DIR=/tmp/earshot \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 earshot && mkdir -p /app/var && chown earshot /app/var
USER earshot

EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

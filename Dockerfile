# One image for every Alpha Panda process; docker-compose.yml chooses the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt gunicorn==27.0.1
COPY . .
ENV STATIC_ROOT=/app/staticfiles
RUN python manage.py collectstatic --noinput
RUN useradd --create-home alphapanda
USER alphapanda

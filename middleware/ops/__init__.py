"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from .views import bp

__all__ = ["bp"]

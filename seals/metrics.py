"""Scrape-time gauges of issuance (found by portal.metrics): what waits for the worker, what it gave up on."""

from prometheus_client.core import GaugeMetricFamily

from seals.models import Issuance, IssuanceStatus


def collect():
    gauge = GaugeMetricFamily(
        "portal_issuances", "签发任务：pending 制证中，failed 重试用尽后失败（累计）", labels=["status"],
    )
    # Both counts read a partial index (pending: the one-per-case constraint; failed: issuance_failed_idx).
    for status in (IssuanceStatus.PENDING, IssuanceStatus.FAILED):
        gauge.add_metric([status.value], Issuance.objects.filter(status=status).count())
    yield gauge

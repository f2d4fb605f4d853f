"""Helpers for tests where several users act at the same moment (real transactions, real threads)."""

import threading

from django.db import connection
from rest_framework.test import APIClient


def race(calls):
    """Run the callables at once (a barrier releases them together); return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client

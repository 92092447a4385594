"""The shared state: the deny-list, the login counters and the store they live in.

:mod:`.store` is the state store of its own (Redis at ``NEXTAUTH_REDIS_URL``, or
the embedded never-evicting table), :mod:`.topology` what that URL names (one node,
Sentinel, Cluster), :mod:`.localview` each process's copy of the deny-list,
:mod:`.revocation` the deny-list itself and :mod:`.throttle` the login counters.
Nothing here is in Django's cache, so no other traffic can evict it.
"""

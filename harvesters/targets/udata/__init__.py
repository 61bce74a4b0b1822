"""The udata target: datasets and data services written to a udata portal through its REST API (/api/1).

- `client`: JSON over /api/1 through the framework's HTTP client, within the portal's write budget
  (`budget`), with retries and a circuit breaker (`breaker`);
- `payloads`: what is sent (the full payload, provenance in `harvest:*` extras) and how provenance is read
  back;
- `contacts`: contact points, the portal's own objects, reused or created;
- `portal`: the Target the pipeline writes to, a few writes at a time;
- `attach`: a source's links rebuilt from the portal's datasets (after a lost database).
"""

from harvesters.targets.udata.attach import Attached, AttachedDataset, adoptable, attach
from harvesters.targets.udata.client import UdataClient
from harvesters.targets.udata.portal import UdataPortal

__all__ = ["Attached", "AttachedDataset", "UdataClient", "UdataPortal", "adoptable", "attach"]

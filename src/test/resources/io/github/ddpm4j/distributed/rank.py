# One rank of a group with ddpm4j's RankMain ("python" scenario), through torch.distributed:
#   python rank.py RANK WORLD_SIZE PORT TIMEOUT_SECONDS
# Runs the same collectives, in the same order, and prints the same key=value lines.
import datetime
import sys

import torch
import torch.distributed as dist

rank, world_size, port, timeout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                        timeout=datetime.timedelta(seconds=timeout))


def floats(t):
    return ",".join(repr(float(v)) for v in t.to(torch.float32).tolist())


print(f"torch={torch.__version__}", flush=True)
t = torch.tensor([1.0, 2.0, 3.0, 4.0]) * (1 if rank == 0 else 10)
dist.all_reduce(t, op=dist.ReduceOp.SUM)
print("sum=" + floats(t))
m = torch.tensor([1.0, -5.0] if rank == 0 else [-1.0, 5.0], dtype=torch.float64)
dist.all_reduce(m, op=dist.ReduceOp.MAX)
print("max=" + floats(m))
b0 = torch.tensor([5.0, 6.0, 7.0]) if rank == 0 else torch.zeros(3)
dist.broadcast(b0, 0)
print("broadcast0=" + floats(b0))
b1 = torch.tensor([-1.5, 2.5]) if rank == 1 else torch.zeros(2)
dist.broadcast(b1, 1)
print("broadcast1=" + floats(b1))
gathered = [torch.zeros(1, dtype=torch.float64) for _ in range(world_size)]
dist.all_gather(gathered, torch.tensor([rank * 10 + 0.5], dtype=torch.float64))
print("gather=[" + ", ".join(repr(float(g.item())) for g in gathered) + "]")
dist.barrier()
dist.destroy_process_group()
print("done=1", flush=True)

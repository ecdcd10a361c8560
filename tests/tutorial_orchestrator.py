"""The tutorial's orchestrator client (Step 4), copied unchanged.

Tests point its module constants at loopback servers; its code is not edited.
"""

# mypy: ignore-errors
import httpx
from typing import Dict, Any, List
import asyncio

WORKER_HOSTS = {
    "research-worker": "http://research-worker.internal:8080",
    "synthesis-worker": "http://synthesis-worker.internal:8080",
}
SHARED_SECRET = "your-agent-shared-secret"
ORCHESTRATOR_VLLM = "http://localhost:8001/v1"


async def load_agent_registry() -> Dict[str, Any]:
    registry = {}
    async with httpx.AsyncClient(timeout=10.0) as client:
        for name, host in WORKER_HOSTS.items():
            resp = await client.get(f"{host}/.well-known/agent-card.json")
            resp.raise_for_status()
            card = resp.json()
            registry[name] = {"card": card, "host": host}
    return registry


async def call_planner(task: str, registry: Dict) -> List[Dict]:
    """Call the orchestrator's vLLM to decompose the task."""
    capability_list = [
        f"{name}: {reg['card']['description']}"
        for name, reg in registry.items()
    ]
    system_prompt = (
        "You are a task planner. Given a user task and a list of worker agents, "
        "decompose the task into sub-tasks and assign each to the most suitable worker. "
        "Return a JSON list: [{\"worker\": \"<name>\", \"query\": \"<sub-task query>\"}]"
    )
    user_prompt = (
        f"Available workers:\n" + "\n".join(capability_list) +
        f"\n\nUser task: {task}\n\nReturn only the JSON list."
    )

    async with httpx.AsyncClient(timeout=60.0) as client:
        response = await client.post(
            f"{ORCHESTRATOR_VLLM}/chat/completions",
            json={
                "model": "meta-llama/Llama-3.3-70B-Instruct",
                "messages": [
                    {"role": "system", "content": system_prompt},
                    {"role": "user", "content": user_prompt}
                ],
                "max_tokens": 512
            }
        )

    import json
    response.raise_for_status()
    content = response.json()["choices"][0]["message"]["content"]
    # LLMs sometimes prefix JSON with explanatory text; extract the JSON array.
    start, end = content.find("["), content.rfind("]") + 1
    if start == -1 or end == 0:
        return []
    try:
        return json.loads(content[start:end])
    except json.JSONDecodeError:
        return []


async def dispatch_a2a_task(
    worker_host: str, task_id: str, query: str
) -> Dict[str, Any]:
    """Send one A2A task to a worker and return its result."""
    async with httpx.AsyncClient(timeout=120.0) as client:
        result = await client.post(
            f"{worker_host}/tasks/send",
            headers={"Authorization": f"Bearer {SHARED_SECRET}"},
            json={"task_id": task_id, "input": {"query": query}, "context": {}}
        )
    result.raise_for_status()
    return result.json()


async def run_agent_mesh(user_task: str) -> str:
    registry = await load_agent_registry()
    sub_tasks = await call_planner(user_task, registry)

    # Dispatch all sub-tasks in parallel
    dispatch_calls = []
    indexed_tasks = []
    for i, sub_task in enumerate(sub_tasks):
        worker_name = sub_task["worker"]
        if worker_name not in registry:
            continue
        host = registry[worker_name]["host"]
        dispatch_calls.append(
            dispatch_a2a_task(host, f"task-{i}", sub_task["query"])
        )
        indexed_tasks.append(sub_task)

    worker_results = await asyncio.gather(*dispatch_calls, return_exceptions=True)

    # Synthesize results with the planner model
    results_text = "\n\n".join(
        f"[{indexed_tasks[i]['worker']}]: {r.get('output', {}).get('summary', '')}"
        for i, r in enumerate(worker_results)
        if not isinstance(r, Exception) and r.get("status") == "completed"
    )

    async with httpx.AsyncClient(timeout=60.0) as client:
        synthesis = await client.post(
            f"{ORCHESTRATOR_VLLM}/chat/completions",
            json={
                "model": "meta-llama/Llama-3.3-70B-Instruct",
                "messages": [
                    {"role": "system", "content": "Synthesize the following agent outputs into a coherent final answer."},
                    {"role": "user", "content": results_text}
                ],
                "max_tokens": 1024
            }
        )

    synthesis.raise_for_status()
    return synthesis.json()["choices"][0]["message"]["content"]

"""The tutorial's research worker (Step 3), copied unchanged.

Tests point VLLM_BASE and SHARED_SECRET at loopback; its code is not edited.
"""

# mypy: ignore-errors
from fastapi import FastAPI, HTTPException, Header
from pydantic import BaseModel
from typing import Optional, Dict, Any
import httpx

app = FastAPI()

AGENT_CARD = {
    "name": "research-worker",
    "version": "1.0.0",
    "description": "Web research and summarization agent. Accepts a query, returns a structured summary.",
    "capabilities": ["web_research", "document_summarization"],
    "task_schema": {
        "input": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_sources": {"type": "integer", "default": 5}
            },
            "required": ["query"]
        },
        "output": {
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "sources": {"type": "array"}
            }
        }
    },
    "authentication": {"schemes": ["bearer"], "required": True}
}

SHARED_SECRET = "your-agent-shared-secret"
VLLM_BASE = "http://localhost:8002/v1"

@app.get("/.well-known/agent-card.json")
async def get_agent_card():
    return AGENT_CARD


class A2ATask(BaseModel):
    task_id: str
    input: Dict[str, Any]
    context: Optional[Dict[str, Any]] = {}


@app.post("/tasks/send")
async def handle_task(task: A2ATask, authorization: str = Header(...)):
    token = authorization.replace("Bearer ", "")
    if token != SHARED_SECRET:
        raise HTTPException(status_code=401, detail="Invalid token")

    query = task.input.get("query")
    if not query:
        raise HTTPException(status_code=400, detail="Missing required field: query")

    # Call the vLLM backend
    async with httpx.AsyncClient(timeout=60.0) as client:
        response = await client.post(
            f"{VLLM_BASE}/chat/completions",
            json={
                "model": "Qwen/Qwen2.5-14B-Instruct",
                "messages": [
                    {
                        "role": "system",
                        "content": "You are a research assistant. Summarize findings concisely with sources."
                    },
                    {"role": "user", "content": query}
                ],
                "max_tokens": 512
            }
        )
        response.raise_for_status()
        llm_result = response.json()

    summary = llm_result["choices"][0]["message"]["content"]

    return {
        "task_id": task.task_id,
        "status": "completed",
        "output": {
            "summary": summary,
            "sources": []
        }
    }

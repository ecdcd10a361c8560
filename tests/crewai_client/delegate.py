"""A crew that delegates through CrewAI's own A2A client (``crewai[a2a]``, on a2a-sdk 0.3).

Runs in its own virtual environment (``tests/crewai_client/environment.py``),
because that client cannot be installed beside a2a-sdk 1.x. Prints one JSON
line: the crew's output, and what the client reported as the remote's answer.

    python delegate.py ENDPOINT SECRET LLM_BASE_URL MODEL {trusted,reasoned} {streaming,polling}
"""

# mypy: ignore-errors
import json
import os
import sys

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_DISABLE_TRACKING", "true")

from crewai import LLM, Agent, Crew, Task
from crewai.a2a.auth.client_schemes import BearerTokenAuth
from crewai.a2a.config import A2AClientConfig
from crewai.a2a.updates import PollingConfig, StreamingConfig
from crewai.events import crewai_event_bus
from crewai.events.types.a2a_events import A2AResponseReceivedEvent

endpoint, secret, llm_url, model, mode, updates = sys.argv[1:7]
responses = []


@crewai_event_bus.on(A2AResponseReceivedEvent)
def _received(source, event):
    responses.append(event.response)


llm = LLM(model=f"openai/{model}", base_url=llm_url, api_base=llm_url, api_key="EMPTY")
config = A2AClientConfig(
    endpoint=endpoint,
    auth=BearerTokenAuth(token=secret),
    trust_remote_completion_status=mode == "trusted",
    updates=StreamingConfig() if updates == "streaming" else PollingConfig(interval=0.2),
    timeout=60,
)
delegator = Agent(
    role="Coordinator", goal="Get answers from the remote agent", backstory="Delegates.", llm=llm, a2a=config
)
task = Task(
    description="Ask the remote agent: hello from crewai", expected_output="The remote agent's answer", agent=delegator
)
output = Crew(agents=[delegator], tasks=[task]).kickoff()
print(json.dumps({"output": output.raw, "responses": responses}))

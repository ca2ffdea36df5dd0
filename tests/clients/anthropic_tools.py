"""The official `anthropic` SDK through claw: tool use after thinking, the
thinking block sent back with its signature, tool results, prompt-cache
hints, without and with streaming. Prints one JSON line per step.

usage: anthropic_tools.py <gateway url> <token> <model>
"""
import json
import sys

import anthropic

url, token, model = sys.argv[1:4]
client = anthropic.Anthropic(base_url=url, api_key=token, max_retries=0)
tools = [{
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "cache_control": {"type": "ephemeral"},
}]
system = [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]
question = [{"role": "user", "content": "What is the weather in Paris and in Rome?"}]
thinking = {"type": "enabled", "budget_tokens": 1024}
WEATHER = {"Paris": "sunny in Paris", "Rome": "rainy in Rome"}


def show(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def ask(messages, stream):
    args = dict(model=model, max_tokens=2048, system=system, tools=tools, thinking=thinking, messages=messages)
    if not stream:
        return client.messages.create(**args)
    with client.messages.stream(**args) as s:
        return s.get_final_message()


for stream in (False, True):
    name = "stream-" if stream else ""
    m = ask(question, stream)
    blocks = [b.model_dump() for b in m.content]
    show(name + "calls", stop=m.stop_reason, types=[b["type"] for b in blocks],
         calls=[[b["id"], b["name"], b["input"]] for b in blocks if b["type"] == "tool_use"],
         thinking=[[b["thinking"], b.get("signature")] for b in blocks if b["type"] == "thinking"],
         usage=m.usage.model_dump())
    answers = [{"type": "tool_result", "tool_use_id": b["id"], "content": WEATHER[b["input"]["city"]]}
               for b in blocks if b["type"] == "tool_use"]
    history = question + [{"role": "assistant", "content": blocks}, {"role": "user", "content": answers}]
    m = ask(history, stream)
    show(name + "answer", stop=m.stop_reason, text="".join(b.text for b in m.content if b.type == "text"))

# A tool_use block whose input is not an object is the client's mistake: a 400.
try:
    client.messages.create(model=model, max_tokens=64, tools=tools, messages=question + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": "Paris"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "x"}]}])
    show("bad-input", status=200)
except anthropic.BadRequestError as e:
    show("bad-input", status=e.status_code, message=e.message)

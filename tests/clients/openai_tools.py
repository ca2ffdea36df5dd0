"""The official `openai` SDK through claw: function calling (two parallel
calls), tool results sent back, and the final answer, without and with
streaming. Prints one JSON line per step for the Rust test to check.

usage: openai_tools.py <gateway url> <token> <model>
"""
import json
import sys

import openai

url, token, model = sys.argv[1:4]
client = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0)
tools = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]
question = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the weather in Paris and in Rome?"}]
WEATHER = {"Paris": "sunny in Paris", "Rome": "rainy in Rome"}


def show(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def results(calls):
    return [{"role": "tool", "tool_call_id": c["id"],
             "content": WEATHER[json.loads(c["function"]["arguments"])["city"]]} for c in calls]


# Not streamed.
r = client.chat.completions.create(model=model, messages=question, tools=tools, tool_choice="auto",
                                   parallel_tool_calls=True)
m = r.choices[0].message
calls = [c.model_dump() for c in m.tool_calls or []]
show("calls", finish=r.choices[0].finish_reason, content=m.content,
     calls=[[c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])] for c in calls],
     usage=r.usage.model_dump() if r.usage else None)
history = question + [m.model_dump(exclude_none=True)] + results(calls)
r = client.chat.completions.create(model=model, messages=history, tools=tools)
show("answer", finish=r.choices[0].finish_reason, content=r.choices[0].message.content)

# Streamed: tool-call deltas gathered by index, as the SDK's users do.
stream = client.chat.completions.create(model=model, messages=question, tools=tools, stream=True,
                                        stream_options={"include_usage": True})
gathered, finish, usage = {}, None, None
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage.model_dump()
    for choice in chunk.choices:
        finish = choice.finish_reason or finish
        for d in choice.delta.tool_calls or []:
            c = gathered.setdefault(d.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
            c["id"] = d.id or c["id"]
            if d.function and d.function.name:
                c["function"]["name"] += d.function.name
            if d.function and d.function.arguments:
                c["function"]["arguments"] += d.function.arguments
calls = [gathered[i] for i in sorted(gathered)]
show("stream-calls", finish=finish, indexes=sorted(gathered),
     calls=[[c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])] for c in calls], usage=usage)
history = question + [{"role": "assistant", "content": None, "tool_calls": calls}] + results(calls)
stream = client.chat.completions.create(model=model, messages=history, tools=tools, stream=True)
text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
show("stream-answer", content=text)

# A tool result for a call nobody made is the client's mistake: a 400.
try:
    client.chat.completions.create(model=model, tools=tools, messages=question + [
        {"role": "tool", "tool_call_id": "call_nobody_made", "content": "x"}])
    show("unknown-call", status=200)
except openai.BadRequestError as e:
    show("unknown-call", status=e.status_code, message=e.message)

"""The official `openai` SDK's Responses API through claw: two function calls,
their outputs sent back with the full input (store=False), the answer; not
streamed and streamed. Prints one JSON line per step.

usage: openai_responses.py <gateway url> <token> <model>
"""
import json
import sys

import openai

url, token, model = sys.argv[1:4]
client = openai.OpenAI(base_url=url + "/v1", api_key=token, max_retries=0)
tools = [{"type": "function", "name": "get_weather", "description": "The weather in a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
question = [{"role": "user", "content": "What is the weather in Paris and in Rome?"}]
WEATHER = {"Paris": "sunny in Paris", "Rome": "rainy in Rome"}


def show(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def follow_up(output):
    items = [i for i in output if i["type"] == "function_call"]
    return question + output + [{"type": "function_call_output", "call_id": i["call_id"],
                                 "output": WEATHER[json.loads(i["arguments"])["city"]]} for i in items]


for stream in (False, True):
    name = "stream-" if stream else ""
    if stream:
        with client.responses.stream(model=model, input=question, tools=tools, store=False) as s:
            r = s.get_final_response()
    else:
        r = client.responses.create(model=model, input=question, tools=tools, store=False)
    output = [i.model_dump(exclude_none=True) for i in r.output]
    show(name + "calls", status=r.status, types=[i["type"] for i in output],
         calls=[[i["call_id"], i["name"], json.loads(i["arguments"])] for i in output if i["type"] == "function_call"])
    if stream:
        with client.responses.stream(model=model, input=follow_up(output), tools=tools, store=False) as s:
            r = s.get_final_response()
    else:
        r = client.responses.create(model=model, input=follow_up(output), tools=tools, store=False)
    show(name + "answer", status=r.status, text=r.output_text)

try:
    client.responses.create(model=model, input="again", previous_response_id="resp_123")
    show("previous-response", status=200)
except openai.BadRequestError as e:
    show("previous-response", status=e.status_code, message=e.message)

try:
    client.responses.create(model=model, tools=tools, input=question + [
        {"type": "function_call_output", "call_id": "call_nobody_made", "output": "x"}])
    show("unknown-call", status=200)
except openai.BadRequestError as e:
    show("unknown-call", status=e.status_code, message=e.message)

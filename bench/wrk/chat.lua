-- wrk script: POST a small non-streamed OpenAI chat completion request.
-- Used by bench/run.sh as: wrk -s bench/wrk/chat.lua http://HOST:PORT/v1/chat/completions
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-client"
wrk.body = '{"model":"gpt-4o","messages":[' ..
  '{"role":"system","content":"You are a helpful assistant."},' ..
  '{"role":"user","content":"Write one sentence about load testing an HTTP gateway."}],' ..
  '"temperature":0.2,"max_tokens":64}'

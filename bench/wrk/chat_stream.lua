-- wrk script: POST a streamed OpenAI chat completion request ("stream":true); wrk's latency is
-- the time to the end of the SSE response (data: [DONE] and the last chunk).
-- Used by bench/run.sh as: wrk -s bench/wrk/chat_stream.lua http://HOST:PORT/v1/chat/completions
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-client"
wrk.body = '{"model":"gpt-4o","messages":[' ..
  '{"role":"system","content":"You are a helpful assistant."},' ..
  '{"role":"user","content":"Write one sentence about load testing an HTTP gateway."}],' ..
  '"temperature":0.2,"max_tokens":64,"stream":true}'

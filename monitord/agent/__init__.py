"""The monitord agent: collects this host's metrics and streams them to the daemon.

python -m monitord.agent --config FILE

Agent.run
├ collect loop    every interval_seconds: psutil → one Sample into the bounded buffer
└ ship loop       connect, hello → welcome, send unacked samples, drop them on ack;
                  on any failure reconnect with full-jitter backoff (capped) and re-send
"""

# A stand-in for "your app" in the compose recipe: a webhook receiver small enough for an image FROM
# scratch with nothing but a static busybox. `busybox nc -ll -p 3000 -e busybox sh receive.sh` runs this
# once per connection with the socket as stdin and stdout. It reads the request line, the headers and
# Content-Length bytes of body; a POST to /webhooks is appended as one line to /data/webhooks.log (and
# printed to the container's log) and answered 200, anything else 404.
read -r method path _
len=0
while IFS= read -r line; do
  line=${line%"$(printf '\r')"}
  [ -z "$line" ] && break
  case $line in [Cc]ontent-[Ll]ength:*) len=${line#*:}; len=${len# } ;; esac
done
body=$(head -c "$len")
if [ "$method $path" = "POST /webhooks" ]; then
  echo "$body" >> /data/webhooks.log
  echo "webhook: $body" >&2
  printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
else
  printf 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
fi

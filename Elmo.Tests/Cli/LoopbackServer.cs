using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Elmo.Tests.Cli;

/// <summary>
/// A tiny HTTP/1.1 file server on 127.0.0.1 for download tests: honours <c>Range: bytes=N-</c> (or ignores it when
/// told), can cut a response short to simulate a dropped connection, and records every request. One response per
/// connection.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<(string Path, string? Range)> _requests = [];

    public LoopbackServer()
    {
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    /// <summary>Files served, by path (e.g. "/models/w.hdf5").</summary>
    public Dictionary<string, byte[]> Files { get; } = [];

    /// <summary>Whether <c>Range</c> requests get 206 (true) or the whole file with 200 (false).</summary>
    public bool SupportRange { get; set; } = true;

    /// <summary>Given the 1-based request number, the body bytes to send before dropping the connection (null: all).</summary>
    public Func<int, int?> CutAfter { get; set; } = _ => null;

    /// <summary>
    /// Answer as an HTTP/1.0 server without Content-Length: the body ends when the connection closes, so a cut (which
    /// then closes cleanly, without a reset) looks to the client like a complete file.
    /// </summary>
    public bool CloseDelimited { get; set; }

    /// <summary>The Content-Type of 200 responses.</summary>
    public string ContentType { get; set; } = "application/octet-stream";

    /// <summary>Paths answered with this status (and an empty body) instead of a file.</summary>
    public Dictionary<string, int> Statuses { get; } = [];

    /// <summary>The requests so far: path and Range header.</summary>
    public IReadOnlyList<(string Path, string? Range)> Requests
    {
        get
        {
            lock (_requests) return [.. _requests];
        }
    }

    public Uri Url(string path) => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}{path}");

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener.
        }
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (path, range) = await ReadRequest(stream);
                int number;
                lock (_requests)
                {
                    _requests.Add((path, range));
                    number = _requests.Count;
                }

                if (Statuses.TryGetValue(path, out int status))
                {
                    await Write(stream, $"HTTP/1.1 {status} Status {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ReadOnlyMemory<byte>.Empty);
                    return;
                }
                if (!Files.TryGetValue(path, out var content))
                {
                    await Write(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ReadOnlyMemory<byte>.Empty);
                    return;
                }
                long start = 0;
                string head;
                if (range is not null && SupportRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
                {
                    start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
                    if (start >= content.Length)
                    {
                        await Write(stream, $"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{content.Length}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ReadOnlyMemory<byte>.Empty);
                        return;
                    }
                    head = $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{content.Length - 1}/{content.Length}\r\nContent-Length: {content.Length - start}\r\nConnection: close\r\n\r\n";
                }
                else if (CloseDelimited)
                {
                    head = $"HTTP/1.0 200 OK\r\nContent-Type: {ContentType}\r\nConnection: close\r\n\r\n";
                }
                else
                {
                    head = $"HTTP/1.1 200 OK\r\nContent-Length: {content.Length}\r\nContent-Type: {ContentType}\r\nConnection: close\r\n\r\n";
                }
                var body = content.AsMemory((int)start);
                if (CutAfter(number) is int cut && cut < body.Length)
                {
                    await Write(stream, head, body[..cut]);
                    if (!CloseDelimited) client.Client.LingerState = new LingerOption(true, 0); // reset, as a dropped connection does
                    return;
                }
                await Write(stream, head, body);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away: nothing to serve.
            }
        }
    }

    private static async Task<(string Path, string? Range)> ReadRequest(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 16384)
        {
            if (await stream.ReadAsync(one) == 0) break;
            bytes.Add(one[0]);
            int n = bytes.Count;
            if (n >= 4 && bytes[n - 4] == '\r' && bytes[n - 3] == '\n' && bytes[n - 2] == '\r' && bytes[n - 1] == '\n') break;
        }
        var lines = Encoding.ASCII.GetString([.. bytes]).Split("\r\n");
        string path = lines[0].Split(' ') is [_, var p, ..] ? p : "/";
        string? range = lines.Skip(1).Where(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase)).Select(l => l[6..].Trim()).FirstOrDefault();
        return (path, range);
    }

    private static async Task Write(NetworkStream stream, string head, ReadOnlyMemory<byte> body)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }
}

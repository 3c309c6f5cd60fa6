using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// Sockets inside a network namespace the test made, from the test process itself. A socket belongs to the namespace
/// of the thread that created it, for its whole life: so each one is created on a short-lived thread that first
/// joins the namespace (setns), and is then used from any thread like any other. No route, address or interface is
/// added to the machine's own namespace.
/// </summary>
internal static partial class NetnsSockets
{
    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    /// <summary>A new, unconnected socket in <paramref name="netns"/>.</summary>
    public static Socket Create(string netns, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{netns}");
                // The thread ends right after, so it never has to go back to the machine's namespace.
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into {netns} failed (needs root)");
                socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true, Name = "setns " + netns };
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"cannot create a socket in namespace {netns}", error);
    }

    /// <summary>A TCP connection from <paramref name="netns"/> to <paramref name="endpoint"/>.</summary>
    public static async ValueTask<Stream> ConnectAsync(string netns, EndPoint endpoint, CancellationToken ct)
    {
        var socket = Create(netns, SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        try
        {
            await socket.ConnectAsync(endpoint, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An HTTP handler whose connections start in <paramref name="netns"/>. With <paramref name="pinned"/>, every
    /// host name goes to that address (as the browser's --host-resolver-rules do); otherwise the URL's host must be
    /// an IP address.
    /// </summary>
    public static SocketsHttpHandler Handler(string netns, IPAddress? pinned = null) => new()
    {
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        ConnectCallback = (context, ct) => ConnectAsync(netns, new IPEndPoint(pinned ?? IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), ct),
    };

    /// <summary>A TCP port nobody listens on at <paramref name="address"/> inside <paramref name="netns"/>.</summary>
    public static int FreePort(string netns, IPAddress address)
    {
        using var socket = Create(netns, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

using System.Net;
using System.Net.Sockets;
using RetailCam.Cli.Commands;

namespace RetailCam.Cli.Load;

/// <summary>
/// `load` floods whatever it is pointed at, so it may only be pointed at this machine: the host must
/// resolve to loopback addresses only. The address is checked once before the load and again on every
/// connection (a name can resolve differently a second later), proxies are not used and redirects not
/// followed, so no request leaves the machine.
/// </summary>
internal static class LoopbackOnly
{
    /// <summary>The host's addresses, all of them loopback; otherwise a <see cref="UsageException"/>.</summary>
    public static async Task<IPAddress[]> AddressesAsync(string host, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal)) addresses = [literal];
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new UsageException($"--url: '{host}' does not resolve ({ex.SocketErrorCode}); load only sends to this machine: use localhost, 127.0.0.1 or [::1].");
            }
        }
        if (addresses.Length > 0 && addresses.All(IsLoopback)) return addresses;
        var what = literal is not null ? $"'{host}' is not a loopback address"
            : addresses.Length == 0 ? $"'{host}' resolves to no address"
            : $"'{host}' resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}, not only loopback addresses";
        throw new UsageException($"--url: load only sends to this machine, and {what}; use localhost, 127.0.0.1 or [::1].");
    }

    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>A handler that connects only to loopback addresses, directly, and hands redirects back instead of following them.</summary>
    public static SocketsHttpHandler Handler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await AddressesAsync(context.DnsEndPoint.Host, cancellationToken);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}

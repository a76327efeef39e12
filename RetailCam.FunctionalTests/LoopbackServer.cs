using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace RetailCam.FunctionalTests;

/// <summary>Starts a factory's app on real Kestrel at a free loopback port, so several apps can run side by side.</summary>
public static class LoopbackServer
{
    public static Uri Start(WebApplicationFactory<Program> factory) => Start(factory, IPAddress.Loopback);

    /// <summary>On another address of this machine, for what only a visitor from elsewhere sees.</summary>
    public static Uri Start(WebApplicationFactory<Program> factory, IPAddress address)
    {
        // An explicit endpoint at port 0: the OS picks a free port for every app started here.
        factory.UseKestrel(kestrel => kestrel.Listen(address, 0));
        factory.StartServer();
        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal)));
    }
}

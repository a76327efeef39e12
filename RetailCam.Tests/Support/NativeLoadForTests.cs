using System.Runtime.CompilerServices;
using RetailCam.Engine.Native;

namespace RetailCam.Tests.Support;

internal static class NativeLoadForTests
{
    /// <summary>Tests call TorchSharp directly, sometimes before any engine type: patch before any of them runs.</summary>
    [ModuleInitializer]
    internal static void PatchBeforeAnyTest() => TorchNativeLoader.EnsureLoadable();
}

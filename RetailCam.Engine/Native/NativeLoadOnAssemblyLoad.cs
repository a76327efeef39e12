using System.Runtime.CompilerServices;

namespace RetailCam.Engine.Native;

internal static class NativeLoadOnAssemblyLoad
{
    /// <summary>
    /// Any process that runs engine code loads this assembly first, so patching here guarantees the
    /// native library is loadable before TorchSharp's first use, whatever entry point is used.
    /// </summary>
#pragma warning disable CA2255 // Deliberate: the patch must precede every TorchSharp call made through the engine.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void PatchBeforeFirstUse() => TorchNativeLoader.EnsureLoadable();
}

using RetailCam.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Native;

public class NativeLoadTests
{
    [Fact]
    public void Forward_and_backward_run_after_initialisation()
    {
        var environment = TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        Assert.Equal(DeviceType.CPU, environment.Device.type);
        Assert.True(environment.IntraOpThreads >= 1);

        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(3, 4, 3, padding: 1);
        var input = randn(2, 3, 8, 8);
        var loss = conv.call(input).relu().mean();
        loss.backward();

        Assert.NotNull(conv.weight!.grad);
        Assert.True(conv.weight.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Real_library_copy_gets_exactly_one_flag_set_and_patching_again_changes_nothing()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var shipped = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchNativeLoader.LibraryFileName);
        Assert.True(File.Exists(shipped), shipped);

        var original = File.ReadAllBytes(shipped);
        var flagsOffset = ElfVersionNeedPatcher.FindVersionNeedFlagsOffset(original, ElfVersionNeedPatcher.LibStdCxxVersion);
        Assert.True(flagsOffset > 0, "libLibTorchSharp.so should ask for GLIBCXX_3.4.32");

        // Start from the unpatched state the package ships, whatever this build folder holds now.
        var unpatched = (byte[])original.Clone();
        unpatched[flagsOffset] &= unchecked((byte)~0x2);

        var copy = Path.Combine(Path.GetTempPath(), $"retailcam-elf-{Guid.NewGuid():N}.so");
        try
        {
            File.WriteAllBytes(copy, unpatched);
            Assert.Equal(ElfVersionNeedPatcher.Outcome.Patched, ElfVersionNeedPatcher.PatchFile(copy));
            var patched = File.ReadAllBytes(copy);
            var changed = Enumerable.Range(0, patched.Length).Where(i => patched[i] != unpatched[i]).ToList();
            Assert.Equal([(int)flagsOffset], changed);
            Assert.Equal(unpatched[flagsOffset] | 0x2, patched[flagsOffset]);

            Assert.Equal(ElfVersionNeedPatcher.Outcome.AlreadyPatched, ElfVersionNeedPatcher.PatchFile(copy));
            Assert.Equal(patched, File.ReadAllBytes(copy));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void Version_that_is_not_required_is_reported_and_nothing_changes()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchNativeLoader.LibraryFileName);
        var bytes = File.ReadAllBytes(shipped);
        var before = (byte[])bytes.Clone();
        Assert.Equal(ElfVersionNeedPatcher.Outcome.NotRequired, ElfVersionNeedPatcher.Patch(bytes, "GLIBCXX_9.9.99"));
        Assert.Equal(before, bytes);
    }

    [Fact]
    public void Non_elf_input_is_refused_with_a_clear_error()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.Patch(new byte[128]));
        Assert.Contains("ELF", error.Message);
    }
}

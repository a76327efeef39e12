using RetailCam.Engine.Layout;

namespace RetailCam.Tests.Layout;

public sealed class DataRootLockTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), $"retailcam-lock-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void A_second_app_on_the_same_data_root_is_refused_with_a_clear_message_until_the_first_lets_go()
    {
        using (DataRootLock.Acquire(root))
        {
            var refused = Assert.Throws<DataRootInUseException>(() => DataRootLock.Acquire(root));
            Assert.Contains("already running", refused.Message);
            Assert.Contains(root, refused.Message);
            // Another data root is free.
            using var other = DataRootLock.Acquire(Path.Combine(root, "other"));
        }
        using var again = DataRootLock.Acquire(root);
        Assert.True(File.Exists(Path.Combine(root, DataRootLock.FileName)));
    }
}

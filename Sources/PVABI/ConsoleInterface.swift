// The console ring page of a domU (Xen's struct xencons_interface, xen/include/public/io/console.h): input and
// output byte rings, then four free-running u32 indexes. Offsets only: it must never read or write a ring.

public enum ConsoleInterfaceLayout {
    public static let inputOffset = 0
    public static let inputSize: UInt32 = 1024
    public static let outputOffset = 1024
    public static let outputSize: UInt32 = 2048
    public static let inputConsumerOffset = 3072
    public static let inputProducerOffset = 3076
    public static let outputConsumerOffset = 3080
    public static let outputProducerOffset = 3084
    public static let size = 3088
}

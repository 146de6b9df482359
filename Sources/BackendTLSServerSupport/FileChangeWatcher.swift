public import Logging
public import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Calls back when anything changes in the directories holding the watched files (inotify on Linux).
///
/// Watches directories, not files: a Secret volume update replaces the `..data` symlink, which a watch on
/// the old file would never see. The inotify descriptor is read by a NIO pipe channel, so no thread blocks.
/// Where inotify is unavailable this returns `nil` and the reloader's polling carries on alone.
public enum FileChangeWatcher {
    public static func start(
        paths: [String],
        group: any EventLoopGroup,
        logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) async -> (any Channel)? {
        #if canImport(Glibc)
            let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            guard descriptor >= 0 else {
                logger.warning("inotify unavailable; relying on polling")
                return nil
            }
            let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB | IN_MODIFY)
            for directory in Set(paths.map(Self.directory(of:)))
            where inotify_add_watch(descriptor, directory, mask) < 0 {
                logger.warning("cannot watch directory; relying on polling", metadata: ["directory": "\(directory)"])
            }
            do {
                return try await NIOPipeBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ChangeHandler(onChange: onChange))
                        }
                    }
                    .takingOwnershipOfDescriptor(input: descriptor)
                    .get()
            } catch {
                logger.warning("cannot read inotify events; relying on polling", metadata: ["error": "\(error)"])
                close(descriptor)
                return nil
            }
        #else
            return nil
        #endif
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    private final class ChangeHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let onChange: @Sendable () -> Void

        init(onChange: @escaping @Sendable () -> Void) {
            self.onChange = onChange
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            onChange()
        }
    }
}

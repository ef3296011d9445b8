from integral_pose.cli import main

main()
